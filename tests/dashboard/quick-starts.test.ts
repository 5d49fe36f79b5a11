// Issue 20, quick starts: each snippet an application's page offers must be right for the SDK it
// names, or it sends a customer down a wrong path. The TypeScript SDK and openid-client are
// installed here, so their snippets are compiled against the real type definitions (a renamed
// option or function fails to typecheck). Kinde's Next.js, Express, React and JavaScript SDKs are
// not dependencies of Latchkey (Next.js alone would pull in Next and React): their snippets are
// held to the names those SDKs read, copied below from the versions named beside them.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import {
  type QuickStart,
  quickStarts,
  SECRET_ENV,
} from "../../dashboard/src/screens/quick-start-snippets.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * What each SDK reads. `required` must all appear; every name used must be in `known`.
 * - Next.js 2.13.1: dist/*.js reads process.env.KINDE_* (config), handleAuth from "/server".
 * - Express 1.6.0: dist/types/setup/kindeSetupTypes.d.ts, ACSetupConfigParams.
 * - React 5.13.1: src/state/KindeProvider.tsx, KindeProviderProps.
 * - JavaScript (pkce-js) 4.5.1: dist/index.d.ts, KindeClientOptions.
 */
const SDK_NAMES: Record<string, { required: string[]; known: string[] }> = {
  "@kinde-oss/kinde-auth-nextjs": {
    required: [
      "KINDE_CLIENT_ID",
      "KINDE_CLIENT_SECRET",
      "KINDE_ISSUER_URL",
      "KINDE_SITE_URL",
      "KINDE_POST_LOGOUT_REDIRECT_URL",
      "KINDE_POST_LOGIN_REDIRECT_URL",
    ],
    known: [
      "KINDE_CLIENT_ID",
      "KINDE_CLIENT_SECRET",
      "KINDE_ISSUER_URL",
      "KINDE_SITE_URL",
      "KINDE_POST_LOGOUT_REDIRECT_URL",
      "KINDE_POST_LOGIN_REDIRECT_URL",
      "KINDE_AUDIENCE",
      "KINDE_SCOPE",
      "KINDE_COOKIE_DOMAIN",
    ],
  },
  "@kinde-oss/kinde-node-express": {
    required: [
      "grantType",
      "issuerBaseUrl",
      "postLogoutRedirectUrl",
      "siteUrl",
      "clientId",
      "secret",
      "unAuthorisedUrl",
      "redirectUrl",
    ],
    known: [
      "grantType",
      "issuerBaseUrl",
      "postLogoutRedirectUrl",
      "siteUrl",
      "clientId",
      "secret",
      "unAuthorisedUrl",
      "redirectUrl",
      "audience",
      "scope",
    ],
  },
  "@kinde-oss/kinde-auth-react": {
    required: ["clientId", "domain", "redirectUri"],
    known: ["audience", "clientId", "domain", "logoutUri", "redirectUri", "scope", "callbacks"],
  },
  "@kinde-oss/kinde-auth-pkce-js": {
    required: ["domain", "redirect_uri"],
    known: ["audience", "client_id", "domain", "logout_uri", "redirect_uri", "scope"],
  },
};

/** The names a snippet sets, read the way each SDK's configuration is written. */
function namesUsed(quickStart: QuickStart): string[] {
  const { code, sdk } = quickStart;
  if (sdk === "@kinde-oss/kinde-auth-nextjs") return [...code.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!);
  if (sdk === "@kinde-oss/kinde-auth-react") {
    const provider = /<KindeProvider([\s\S]*?)>/.exec(code)?.[1] ?? "";
    return [...provider.matchAll(/(\w+)=/g)].map((m) => m[1]!);
  }
  const options = /(?:setupKinde\(|createKindeClient\()\s*\{([\s\S]*?)\}/.exec(code)?.[1] ?? "";
  return [...options.matchAll(/^\s*(\w+):/gm)].map((m) => m[1]!);
}

const VALUES = {
  clientId: "0123456789abcdef0123456789abcdef",
  callback: "https://app.example.com/api/auth/kinde_callback",
  logout: "https://app.example.com/",
};

/** Compiles snippets (each its own ES module in the project) against node_modules' types. */
function typeErrors(snippets: string[]): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ["node"],
  };
  // What a snippet assumes its app provides: Kinde's session store and the request's URL.
  const prelude = `
import type { SessionManager } from "@kinde-oss/kinde-typescript-sdk";
declare const sessionManager: SessionManager;
declare const requestUrl: string;
export {};
`;
  const files = new Map(
    snippets.map((code, i) => [path.join(ROOT, `tests/dashboard/__snippet_${i}.ts`), `${code}\n${prelude}`]),
  );
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => {
    const text = files.get(name);
    return text === undefined
      ? getSourceFile(name, version, ...rest)
      : ts.createSourceFile(name, text, version);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (d) =>
        `${d.file ? path.basename(d.file.fileName) : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`,
    );
}

describe("quick starts on an application's page", () => {
  const domains = ["https://auth.example.com", "http://localhost:3000"];

  it("offers the SDKs that fit the application's kind", () => {
    const labels = (type: string) =>
      quickStarts(type, { domain: domains[0]!, ...VALUES }).map((q) => q.label);
    assert.deepEqual(labels("reg"), ["Next.js", "Express", "TypeScript SDK", "openid-client"]);
    assert.deepEqual(labels("spa"), ["React", "JavaScript", "TypeScript SDK", "openid-client"]);
    assert.deepEqual(labels("m2m"), ["TypeScript SDK", "openid-client", "curl"]);
  });

  it("uses this application's values and never a secret, only its environment variable", () => {
    for (const type of ["reg", "spa", "m2m"]) {
      for (const q of quickStarts(type, { domain: domains[0]!, ...VALUES })) {
        assert.ok(q.code.includes(VALUES.clientId), `${type} ${q.label}: client ID`);
        assert.ok(q.code.includes(domains[0]!), `${type} ${q.label}: domain`);
        if (type !== "m2m") assert.ok(q.code.includes("https://app.example.com"), `${type} ${q.label}: URLs`);
        const secretNamed = q.code.includes(SECRET_ENV);
        // A front-end app has no secret to name; a back-end or machine one reads it from the env.
        assert.equal(secretNamed, type !== "spa", `${type} ${q.label}: secret from ${SECRET_ENV}`);
        assert.doesNotMatch(
          q.code,
          /client_?[sS]ecret\s*[:=]\s*["'](?!\$)[^"']/,
          `${type} ${q.label}: no inline secret`,
        );
      }
    }
  });

  it("the Next.js snippet's site URL yields the callback the SDK signs in at", () => {
    const [next] = quickStarts("reg", { domain: domains[0]!, ...VALUES });
    assert.match(next!.code, /^KINDE_SITE_URL=https:\/\/app\.example\.com$/m);
    assert.doesNotMatch(next!.lead, /add that callback URL/);
    const [other] = quickStarts("reg", {
      domain: domains[0]!,
      ...VALUES,
      callback: "https://app.example.com/cb",
    });
    assert.match(
      other!.lead,
      /https:\/\/app\.example\.com\/api\/auth\/kinde_callback: add that callback URL/,
    );
  });

  it("Next.js, Express, React and JavaScript snippets use only names their SDK reads, and all it needs", () => {
    const checked = new Set<string>();
    for (const type of ["reg", "spa"]) {
      for (const q of quickStarts(type, { domain: domains[0]!, ...VALUES })) {
        const names = SDK_NAMES[q.sdk];
        if (!names) continue;
        checked.add(q.sdk);
        const used = namesUsed(q);
        assert.ok(used.length > 0, `${q.sdk}: found its options`);
        for (const name of used) assert.ok(names.known.includes(name), `${q.sdk} reads no ${name}`);
        for (const name of names.required) assert.ok(used.includes(name), `${q.sdk} needs ${name}`);
      }
    }
    assert.deepEqual([...checked].sort(), Object.keys(SDK_NAMES).sort());
  });

  it("TypeScript SDK and openid-client snippets compile against the installed SDKs", () => {
    const snippets: string[] = [];
    for (const domain of domains)
      for (const type of ["reg", "spa", "m2m"])
        for (const q of quickStarts(type, { domain, ...VALUES }))
          if (q.sdk === "@kinde-oss/kinde-typescript-sdk" || q.sdk === "openid-client") snippets.push(q.code);
    assert.equal(snippets.length, 12);
    assert.deepEqual(typeErrors(snippets), []);
    // The check can fail: a misspelt option does not compile.
    const broken = snippets[0]!.replace("authDomain", "authDomian");
    assert.notDeepEqual(typeErrors([broken]), []);
  });
});
