/**
 * One op of an agent: its code and session (status, times, success, messages, data) and the
 * actions: start with params (a form from the docstring, else raw JSON, checked before sending),
 * stop, abort when abortable, wait. The agent's reply text is shown inline.
 */
import { useMemo, useState } from 'preact/hooks';
import type { ApiOpInfo } from '../../../client/agent-api.js';
import type { OpSessionData } from '../../../client/op-reply.js';
import { paramFields, paramsFromForm, paramsFromJson } from '../../../ops/docstring-params.js';
import type { ConsoleSession, OpAction } from '../console-session.js';
import { opCodeText, timeText } from './format.js';
import { JsonView } from './json-view.js';

interface OpCardProps {
  console: ConsoleSession;
  address: string;
  name: string;
  kind: 'task' | 'process';
  info: ApiOpInfo;
  code: number | undefined;
  session: OpSessionData | undefined;
}

export function OpCard({ console: c, address, name, kind, info, code, session }: OpCardProps) {
  const fields = useMemo(() => paramFields(name, info.docstring), [name, info.docstring]);
  const [values, setValues] = useState<Record<string, string>>({});
  const [json, setJson] = useState('');
  const [useJson, setUseJson] = useState(fields.length === 0);
  const [reply, setReply] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (action: OpAction) => {
    let params: Record<string, unknown> = {};
    if (action === 'start') {
      const checked = useJson ? paramsFromJson(json) : paramsFromForm(fields, values);
      if (!checked.ok) {
        setReply({ ok: false, text: checked.error });
        return;
      }
      params = checked.params;
    }
    setBusy(true);
    const outcome = await c.action(address, action, name, params);
    setBusy(false);
    setReply({ ok: outcome.ok, text: outcome.message });
  };

  const status = session?.status ?? 'no history';
  return (
    <section class="op" data-testid={`op-${name}`} data-op-code={code ?? ''} data-status={session?.status ?? ''}>
      <header>
        <b>{name}</b> <span class="muted">{kind}</span>
        <span class={`code code-${opCodeText(code).toLowerCase()}`} data-testid="op-code">
          {opCodeText(code)}
        </span>
      </header>
      <div class="session" data-testid="op-session">
        <span>status: <b data-testid="op-status">{status}</b></span>
        <span>start: {timeText(session?.start_time)}</span>
        <span>end: {timeText(session?.end_time)}</span>
        <span>
          success: <b data-testid="op-success">{session?.success == null ? '–' : String(session.success)}</b>
        </span>
      </div>
      {session !== undefined && session.messages.length > 0 && (
        <ul class="messages" data-testid="op-messages">
          {session.messages.slice(-4).map(([t, text], i) => (
            <li key={i}>
              <span class="muted">{timeText(t)}</span> {text}
            </li>
          ))}
        </ul>
      )}
      {session !== undefined && Object.keys(session.data).length > 0 && <JsonView value={session.data} label="data" testId="op-data" />}
      <div class="params">
        {!useJson &&
          fields.map((f) => (
            <label key={f.name} title={f.doc}>
              {f.name} <span class="muted">({f.type}{f.defaultText !== null ? `, default ${f.defaultText}` : ''})</span>
              {f.type === 'bool' ? (
                <select value={values[f.name] ?? ''} onChange={(e) => setValues({ ...values, [f.name]: (e.target as HTMLSelectElement).value })} data-testid={`param-${f.name}`}>
                  <option value="">default</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                </select>
              ) : (
                <input value={values[f.name] ?? ''} placeholder={f.defaultText ?? ''} onInput={(e) => setValues({ ...values, [f.name]: (e.target as HTMLInputElement).value })} data-testid={`param-${f.name}`} />
              )}
            </label>
          ))}
        {useJson && <textarea rows={2} placeholder='{"param": value}' value={json} onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)} data-testid="params-json" />}
        <label class="muted">
          <input type="checkbox" checked={useJson} onChange={() => setUseJson(!useJson)} data-testid="params-json-toggle" /> raw JSON
        </label>
      </div>
      <div class="actions">
        <button disabled={busy} onClick={() => void run('start')} data-testid="op-start">
          start
        </button>
        <button disabled={busy} onClick={() => void run('stop')} data-testid="op-stop">
          stop
        </button>
        {kind === 'task' && info.abortable === true && (
          <button disabled={busy} onClick={() => void run('abort')} data-testid="op-abort">
            abort
          </button>
        )}
        <button disabled={busy} onClick={() => void run('wait')} data-testid="op-wait">
          wait
        </button>
      </div>
      {reply !== null && (
        <div class={reply.ok ? 'reply ok' : 'reply error'} data-testid="op-reply">
          {reply.text}
        </div>
      )}
    </section>
  );
}
