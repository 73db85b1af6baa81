/**
 * The dependency graph of one host's agent instances (`supervise: {requires, after}`): the
 * problems that make it unusable, each naming both ends: an id that is not an instance of the
 * host, an instance that depends on itself, a cycle. Pure; the site file's host check and the
 * supervisor's entry check both use it.
 */

export interface DependencyNode {
  id: string;
  requires: readonly string[];
  after: readonly string[];
}

export interface DependencyProblem {
  /** The instance whose `supervise:` block has the problem. */
  id: string;
  key: 'requires' | 'after';
  message: string;
}

/** Ids this node waits for before it starts (requires implies after). */
export function startsAfter(node: DependencyNode): string[] {
  return [...new Set([...node.requires, ...node.after])];
}

export function dependencyProblems(nodes: readonly DependencyNode[]): DependencyProblem[] {
  const problems: DependencyProblem[] = [];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const node of nodes) {
    for (const key of ['requires', 'after'] as const) {
      for (const dep of node[key]) {
        if (dep === node.id) problems.push({ id: node.id, key, message: `'${node.id}' cannot depend on itself` });
        else if (!byId.has(dep)) problems.push({ id: node.id, key, message: `'${node.id}' ${key === 'requires' ? 'requires' : 'is after'} '${dep}', which is not an agent instance of this host` });
      }
    }
  }
  // Cycles: depth-first search over the edges that exist; one report per cycle found.
  const color = new Map<string, 'grey' | 'black'>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    color.set(id, 'grey');
    stack.push(id);
    const node = byId.get(id);
    for (const dep of node === undefined ? [] : startsAfter(node)) {
      if (dep === id || !byId.has(dep)) continue;
      const seen = color.get(dep);
      if (seen === 'grey') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        const key = node?.requires.includes(dep) ? 'requires' : 'after';
        problems.push({ id, key, message: `dependency cycle: ${cycle.join(' -> ')} ('${id}' and '${dep}' wait for each other)` });
      } else if (seen === undefined) visit(dep);
    }
    stack.pop();
    color.set(id, 'black');
  };
  for (const node of nodes) if (!color.has(node.id)) visit(node.id);
  return problems;
}

/**
 * Start layers: every id in layer k waits only for ids in earlier layers. Stop order is the
 * layers reversed. Ids in a cycle (or waiting for one) come last, in their own layer.
 */
export function startLayers(nodes: readonly DependencyNode[]): string[][] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layerOf = new Map<string, number>();
  const onPath = new Set<string>();
  const depth = (id: string): number => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    if (onPath.has(id)) return Number.POSITIVE_INFINITY;
    onPath.add(id);
    const node = byId.get(id);
    let d = 0;
    for (const dep of node === undefined ? [] : startsAfter(node)) if (byId.has(dep) && dep !== id) d = Math.max(d, depth(dep) + 1);
    onPath.delete(id);
    layerOf.set(id, d);
    return d;
  };
  for (const n of nodes) depth(n.id);
  const finite = [...layerOf.values()].filter(Number.isFinite);
  const last = (finite.length > 0 ? Math.max(...finite) : 0) + 1;
  const layers: string[][] = [];
  for (const n of nodes) {
    const d = layerOf.get(n.id) ?? 0;
    const at = Number.isFinite(d) ? d : last;
    (layers[at] ??= []).push(n.id);
  }
  return layers.filter((l) => l !== undefined && l.length > 0);
}
