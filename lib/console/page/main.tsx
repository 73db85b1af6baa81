/** Entry: reads `config.json` (beside the page), resolves the target, connects, renders. */
import './zod-jitless.js';
import { options, render } from 'preact';
import { resolveConsoleConfig } from '../console-config.js';
import { App } from './app.js';
import { ConsoleSession } from './console-session.js';
import './console.css';

declare global {
  interface Window {
    /** the running console, for the benchmark and for debugging */
    ocsConsole?: ConsoleSession;
  }
}

async function boot(root: HTMLElement): Promise<void> {
  let served: unknown = {};
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) served = await res.json();
  } catch {
    // a static copy without config.json: the defaults and the query string
  }
  const resolved = resolveConsoleConfig(served, location);
  if (!resolved.ok) {
    root.innerHTML = '';
    const p = document.createElement('p');
    p.className = 'problems';
    p.dataset['testid'] = 'config-error';
    p.textContent = `console configuration: ${resolved.error}`;
    root.append(p);
    return;
  }
  const session = new ConsoleSession(resolved.config);
  window.ocsConsole = session;
  // Preact's batched renders (and the layout effects in them: uPlot's setData) count as the
  // time spent applying updates, like the handlers that caused them
  options.debounceRendering = (flush) => queueMicrotask(() => session.measure(flush));
  session.start();
  render(<App console={session} />, root);
}

void boot(document.getElementById('app') as HTMLElement);
