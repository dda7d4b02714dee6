// Rebuilds src/fukaiji/web/static from the pinned npm packages and fukaiji.css:
//   cd frontend && npm ci && npm run build
// The outputs are committed so that `pip install fukaiji` needs no Node.js.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, "..", "src", "fukaiji", "web", "static");
const modules = join(here, "node_modules");
const version = (name) =>
  JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;

mkdirSync(staticDir, { recursive: true });
const tokens = readFileSync(join(modules, "@digital-go-jp/design-tokens/dist/tokens.css"), "utf8");
const own = readFileSync(join(here, "fukaiji.css"), "utf8");
writeFileSync(
  join(staticDir, "fukaiji.css"),
  `/* Built by frontend/build.mjs: @digital-go-jp/design-tokens ${version("@digital-go-jp/design-tokens")} (MIT, Digital Agency) + frontend/fukaiji.css. Do not edit. */\n` +
    tokens + "\n" + own,
);
writeFileSync(
  join(staticDir, "htmx.min.js"),
  readFileSync(join(modules, "htmx.org/dist/htmx.min.js"), "utf8"),
);
console.log(`built ${staticDir}/fukaiji.css and htmx.min.js (htmx ${version("htmx.org")})`);
