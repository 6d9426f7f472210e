import { COLUMNS, ROWS, cellPhrase, describeScene, objectsInReadingOrder, withArticle, type Scene, type SceneObject } from '../datasets/scene';
import type { CountOp, Desc, OpenQuery, Predicate } from './grammar';

/** What the simulator can tell from a scene: pure functions, no randomness. */

export function objectMatches(o: SceneObject, desc: Desc): boolean {
  return (
    (desc.color === undefined || o.color === desc.color) &&
    (desc.shape === undefined || o.shape === desc.shape) &&
    (desc.size === undefined || o.size === desc.size) &&
    (desc.column === undefined || o.column === desc.column) &&
    (desc.row === undefined || o.row === desc.row)
  );
}

function compare(count: number, op: CountOp, n: number): boolean {
  switch (op) {
    case 'eq':
      return count === n;
    case 'ge':
      return count >= n;
    case 'le':
      return count <= n;
    case 'gt':
      return count > n;
    case 'lt':
      return count < n;
  }
}

export function evaluatePredicate(scene: Scene, predicate: Predicate): boolean {
  const matching = (desc: Desc): SceneObject[] => scene.objects.filter((o) => objectMatches(o, desc));
  switch (predicate.kind) {
    case 'exists':
      return matching(predicate.desc).length > 0;
    case 'count':
      return compare(matching(predicate.desc).length, predicate.op, predicate.n);
    case 'background':
      return scene.background === predicate.color;
    case 'the':
      return matching(predicate.subject).some((o) => objectMatches(o, predicate.property));
    case 'every': {
      const subjects = matching(predicate.subject);
      return subjects.length > 0 && subjects.every((o) => objectMatches(o, predicate.property));
    }
    case 'relation': {
      const holds = (a: SceneObject, b: SceneObject): boolean => {
        switch (predicate.relation) {
          case 'leftOf':
            return COLUMNS.indexOf(a.column) < COLUMNS.indexOf(b.column);
          case 'rightOf':
            return COLUMNS.indexOf(a.column) > COLUMNS.indexOf(b.column);
          case 'above':
            return ROWS.indexOf(a.row) < ROWS.indexOf(b.row);
          case 'below':
            return ROWS.indexOf(a.row) > ROWS.indexOf(b.row);
        }
      };
      const bs = matching(predicate.b);
      return matching(predicate.a).some((a) => bs.some((b) => a !== b && holds(a, b)));
    }
    case 'and':
      return predicate.parts.every((p) => evaluatePredicate(scene, p));
    case 'or':
      return predicate.parts.some((p) => evaluatePredicate(scene, p));
  }
}

function joinWords(words: string[]): string {
  const unique = [...new Set(words)];
  return unique.length <= 1 ? (unique[0] ?? '') : `${unique.slice(0, -1).join(', ')} and ${unique[unique.length - 1]}`;
}

function describeDesc(desc: Desc): string {
  return [desc.size, desc.color, desc.shape ?? 'object'].filter(Boolean).join(' ');
}

/** A short text answer to an open question about the scene. */
export function answerOpenQuery(scene: Scene, query: OpenQuery): string {
  if (query.kind === 'describe') return describeScene(scene);
  if (query.kind === 'backgroundColor') return scene.background;
  const subject = query.subject;
  const objects = objectsInReadingOrder(scene).filter((o) => objectMatches(o, subject));
  if (query.kind === 'howMany') return String(objects.length);
  if (objects.length === 0) return `There is no ${describeDesc(subject)}.`;
  switch (query.kind) {
    case 'whatColor':
      return joinWords(objects.map((o) => o.color));
    case 'whatShape':
      return joinWords(objects.map((o) => o.shape));
    case 'whatSize':
      return joinWords(objects.map((o) => o.size));
    case 'where':
      return joinWords(objects.map((o) => cellPhrase(o.row, o.column)));
    case 'whatIs':
      return joinWords(objects.map((o) => withArticle(`${o.size} ${o.color} ${o.shape}`)));
  }
}
