/**
 * "Did you mean" for mistyped commands and flags: the candidates within a
 * small edit distance of what was typed, nearest first. A typo'd flag is
 * refused either way; the suggestion only shortens the way to the right one.
 */

/** Levenshtein distance with adjacent transpositions counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }
  return rows[a.length][b.length]
}

/** Candidates at most a third of the word's length away (at least 1, at most 3 edits), nearest first. */
export function suggest(typed: string, candidates: Iterable<string>): string[] {
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)))
  return [...new Set(candidates)]
    .map((candidate) => ({candidate, distance: editDistance(typed, candidate)}))
    .filter(({distance}) => distance <= limit)
    .sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate))
    .map(({candidate}) => candidate)
}
