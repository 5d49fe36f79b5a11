// Kinde's business details take industry and timezone by key (PATCH industry_key / timezone_key)
// and show them by display label (GET industry / timezone). Kinde's catalogues come from its
// /api/v1/industries and /api/v1/timezones, which Latchkey does not serve: the industries below
// follow the classification Kinde's examples match ("administration_office_support" →
// "Administration & Office Support", "Healthcare & Medical", "construction"); any other
// well-formed key is kept and shown in words ("los_angeles_pacific_standard_time" →
// "Los Angeles Pacific Standard Time").

export const INDUSTRY_NAMES = [
  "Accounting",
  "Administration & Office Support",
  "Advertising, Arts & Media",
  "Banking & Financial Services",
  "Call Centre & Customer Service",
  "CEO & General Management",
  "Community Services & Development",
  "Construction",
  "Consulting & Strategy",
  "Design & Architecture",
  "Education & Training",
  "Engineering",
  "Farming, Animals & Conservation",
  "Government & Defence",
  "Healthcare & Medical",
  "Hospitality & Tourism",
  "Human Resources & Recruitment",
  "Information & Communication Technology",
  "Insurance & Superannuation",
  "Legal",
  "Manufacturing, Transport & Logistics",
  "Marketing & Communications",
  "Mining, Resources & Energy",
  "Real Estate & Property",
  "Retail & Consumer Products",
  "Sales",
  "Science & Technology",
  "Self Employment",
  "Sport & Recreation",
  "Trades & Services",
];

/** "Advertising, Arts & Media" → "advertising_arts_media". */
export function labelKey(label: string): string {
  return label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");
}

const INDUSTRIES = new Map(INDUSTRY_NAMES.map((name) => [labelKey(name), name]));

/** Keys are lower-case words joined by underscores. */
export const LABEL_KEY = /^[a-z0-9]+(_[a-z0-9]+)*$/;

function words(key: string): string {
  return key
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}

export function industryLabel(key: string | null): string | null {
  return key === null ? null : (INDUSTRIES.get(key) ?? words(key));
}

export function timezoneLabel(key: string | null): string | null {
  return key === null ? null : words(key);
}
