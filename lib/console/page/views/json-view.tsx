/** Pretty JSON, collapsible (closed when long). */
export function JsonView({ value, label, testId }: { value: unknown; label: string; testId?: string }) {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? 'undefined';
  } catch {
    text = String(value);
  }
  const lines = text.split('\n').length;
  return (
    <details class="json" open={lines <= 12} data-testid={testId}>
      <summary>
        {label} <span class="muted">({lines} lines)</span>
      </summary>
      <pre>{text}</pre>
    </details>
  );
}
