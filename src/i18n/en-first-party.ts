// Why Latchkey's own pages (/account, /device) did not take a sign-in back (first-party-sign-in.ts's
// callback checks, RFC 6749 §4.1.2 / §10.12, RFC 7636 §4.6, RFC 9207 §2.4), part of en.ts.

export const enFirstParty = {
  "first_party.not_started_here":
    "This sign-in was not started in this browser, or took too long. Try again.",
  "first_party.other_server": "This sign-in came back from another server.",
  "first_party.did_not_finish": "The sign-in did not finish.",
  "first_party.used": "This sign-in was used already. Try again.",
  "first_party.not_ours": "This sign-in is not ours.",
  "first_party.too_long": "This sign-in took too long. Try again.",
  "first_party.other_browser": "This sign-in was not started in this browser.",
  "first_party.other_session": "This sign-in belongs to another browser session. Try again.",
} as const;
