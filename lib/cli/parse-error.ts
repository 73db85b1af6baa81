/** Node's argument parser explains at length; the commands say what is wrong in one line. */
export function parseErrorLine(err: unknown): string {
  const e = err as Error & { code?: string };
  const option = /'(-[^']*)'/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) return `unknown option '${option}'`;
  return e.message.split('. ')[0] ?? e.message;
}
