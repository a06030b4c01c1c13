import fs from "node:fs";
import path from "node:path";

/**
 * The repository's root, the nearest folder above this file that holds package.json: the same from the sources
 * (router/) and from their build (dist/router/), so both find the checked-in files beside them.
 */
export const REPOSITORY_ROOT = (() => {
  for (let folder = import.meta.dirname; ; folder = path.dirname(folder)) {
    if (fs.existsSync(path.join(folder, "package.json"))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`no package.json above ${import.meta.dirname}`);
  }
})();

/** A checked-in file, by its path from the repository's root. */
export const repositoryFile = (...segments: string[]) => path.join(REPOSITORY_ROOT, ...segments);
