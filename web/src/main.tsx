import { createRoot } from "react-dom/client";
import { App } from "./app";
import { keepLinkInvitation, takeLinkFragment } from "./session/fragment";
import { cleanToken, tokenStore } from "./session/token-store";
import { loadSettings } from "./settings";
import "./styles.css";

const fragment = takeLinkFragment();
if (fragment.token) tokenStore.write(cleanToken(fragment.token));
keepLinkInvitation(fragment.invitation);

const root = createRoot(document.getElementById("root")!);
loadSettings().then(
  (settings) => root.render(<App settings={settings} initialToken={tokenStore.read()} />),
  (error: unknown) =>
    root.render(
      <main className="narrow">
        <p className="error" role="alert">
          The page cannot start: {error instanceof Error ? error.message : String(error)}
        </p>
      </main>,
    ),
);
