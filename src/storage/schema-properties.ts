// Row types of Kinde's properties (issue 19): categories, definitions and values per owner.
import type { Generated } from "kysely";

/** Kinde's property contexts: a user's, an organization's or an application's. */
export type PropertyContext = "usr" | "org" | "app";
export type PropertyType = "single_line_text" | "multi_line_text";

/** Property categories and definitions, and their values per owner (migration 0030). */
export interface PropertyCategoriesTable {
  id: string;
  name: string;
  context: PropertyContext;
  is_kinde_category: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface PropertiesTable {
  id: string;
  context: PropertyContext;
  key: string;
  name: string;
  description: string | null;
  type: PropertyType;
  is_private: number;
  category_id: string;
  is_kinde_property: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface UserPropertyValuesTable {
  user_id: string;
  property_id: string;
  value: string;
  updated_at: number;
}

export interface OrganizationPropertyValuesTable {
  org_code: string;
  property_id: string;
  value: string;
  updated_at: number;
}

export interface ApplicationPropertyValuesTable {
  application_id: string;
  property_id: string;
  value: string;
  updated_at: number;
}
