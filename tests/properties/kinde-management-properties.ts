// Runs Kinde's Management API client (@kinde/management-api-js 0.18, unchanged) against Latchkey's
// property, category, property value and user search operations, configured as its README says, in
// its own process (see tests/helpers/kinde-script.ts). Arguments: a user id, an organization code,
// an application id and a tag the user's e-mail contains. Prints one JSON line per step.
import * as kinde from "@kinde/management-api-js";
import type {
  CreateCategoryData,
  CreateCategoryResponse,
  CreatePropertyData,
  CreatePropertyResponse,
  DeletePropertyData,
  DeletePropertyResponse,
  GetApplicationPropertyValuesData,
  GetApplicationPropertyValuesResponse,
  GetCategoriesData,
  GetCategoriesResponse,
  GetOrganizationPropertyValuesData,
  GetOrganizationPropertyValuesResponse,
  GetPropertiesData,
  GetPropertiesResponse,
  GetUserPropertyValuesData,
  GetUserPropertyValuesResponse,
  SearchUsersData,
  SearchUsersResponse,
  UpdateApplicationsPropertyData,
  UpdateApplicationsPropertyResponse,
  UpdateCategoryData,
  UpdateCategoryResponse,
  UpdateOrganizationPropertiesData,
  UpdateOrganizationPropertiesResponse,
  UpdateOrganizationPropertyData,
  UpdateOrganizationPropertyResponse,
  UpdatePropertyData,
  UpdatePropertyResponse,
  UpdateUserPropertiesData,
  UpdateUserPropertiesResponse,
  UpdateUserPropertyData,
  UpdateUserPropertyResponse,
} from "../../node_modules/@kinde/management-api-js/dist/api/types.gen.js";
import { step } from "../helpers/kinde-script.js";

const { Properties, PropertyCategories, Users, Organizations, Applications, Search, init } =
  kinde as unknown as {
    Properties: {
      getProperties(data?: GetPropertiesData): Promise<GetPropertiesResponse>;
      createProperty(data: CreatePropertyData): Promise<CreatePropertyResponse>;
      updateProperty(data: UpdatePropertyData): Promise<UpdatePropertyResponse>;
      deleteProperty(data: DeletePropertyData): Promise<DeletePropertyResponse>;
    };
    PropertyCategories: {
      getCategories(data?: GetCategoriesData): Promise<GetCategoriesResponse>;
      createCategory(data: CreateCategoryData): Promise<CreateCategoryResponse>;
      updateCategory(data: UpdateCategoryData): Promise<UpdateCategoryResponse>;
    };
    Users: {
      updateUserProperty(data: UpdateUserPropertyData): Promise<UpdateUserPropertyResponse>;
      updateUserProperties(data: UpdateUserPropertiesData): Promise<UpdateUserPropertiesResponse>;
      getUserPropertyValues(data: GetUserPropertyValuesData): Promise<GetUserPropertyValuesResponse>;
    };
    Organizations: {
      updateOrganizationProperty(
        data: UpdateOrganizationPropertyData,
      ): Promise<UpdateOrganizationPropertyResponse>;
      updateOrganizationProperties(
        data: UpdateOrganizationPropertiesData,
      ): Promise<UpdateOrganizationPropertiesResponse>;
      getOrganizationPropertyValues(
        data: GetOrganizationPropertyValuesData,
      ): Promise<GetOrganizationPropertyValuesResponse>;
    };
    Applications: {
      updateApplicationsProperty(
        data: UpdateApplicationsPropertyData,
      ): Promise<UpdateApplicationsPropertyResponse>;
      getApplicationPropertyValues(
        data: GetApplicationPropertyValuesData,
      ): Promise<GetApplicationPropertyValuesResponse>;
    };
    Search: { searchUsers(data?: SearchUsersData): Promise<SearchUsersResponse> };
    init: () => void;
  };

const [userId = "", orgCode = "", applicationId = "", tag = ""] = process.argv.slice(2);

init();

const usr = await step("createCategory:usr", () =>
  PropertyCategories.createCategory({ requestBody: { name: "SDK people", context: "usr" } }),
);
const org = await step("createCategory:org", () =>
  PropertyCategories.createCategory({ requestBody: { name: "SDK companies", context: "org" } }),
);
const app = await step("createCategory:app", () =>
  PropertyCategories.createCategory({ requestBody: { name: "SDK apps", context: "app" } }),
);
const usrCategory = usr?.category?.id ?? "";
await step("updateCategory", () =>
  PropertyCategories.updateCategory({ categoryId: usrCategory, requestBody: { name: "SDK persons" } }),
);
await step("getCategories:usr", () => PropertyCategories.getCategories({ context: "usr", pageSize: 100 }));
await step("getCategories:first", () => PropertyCategories.getCategories({ pageSize: 1 }));

const created = await step("createProperty", () =>
  Properties.createProperty({
    requestBody: {
      name: "Favourite colour",
      description: "What they like",
      key: "favourite_colour",
      type: "single_line_text",
      context: "usr",
      is_private: false,
      category_id: usrCategory,
    },
  }),
);
await step("createProperty:org", () =>
  Properties.createProperty({
    requestBody: {
      name: "Seats",
      key: "seats",
      type: "single_line_text",
      context: "org",
      is_private: false,
      category_id: org?.category?.id ?? "",
    },
  }),
);
await step("createProperty:app", () =>
  Properties.createProperty({
    requestBody: {
      name: "Region",
      key: "region",
      type: "single_line_text",
      context: "app",
      is_private: false,
      category_id: app?.category?.id ?? "",
    },
  }),
);
await step("createProperty:duplicate", () =>
  Properties.createProperty({
    requestBody: {
      name: "Again",
      key: "favourite_colour",
      type: "single_line_text",
      context: "usr",
      is_private: false,
      category_id: usrCategory,
    },
  }),
);
const propertyId = created?.property?.id ?? "";
await step("updateProperty", () =>
  Properties.updateProperty({
    propertyId,
    requestBody: { name: "Colour", description: "Their colour", is_private: false, category_id: usrCategory },
  }),
);
await step("getProperties:usr", () => Properties.getProperties({ context: "usr", pageSize: 500 }));
const first = await step("getProperties:page1", () => Properties.getProperties({ pageSize: 2 }));
await step("getProperties:page2", () =>
  Properties.getProperties({ pageSize: 2, startingAfter: first?.properties?.at(-1)?.id ?? null }),
);

await step("updateUserProperty", () =>
  Users.updateUserProperty({ userId, propertyKey: "favourite_colour", value: "teal" }),
);
await step("updateUserProperties", () =>
  Users.updateUserProperties({ userId, requestBody: { properties: { kp_usr_city: "Lisbon" } } }),
);
await step("updateUserProperty:unknown", () =>
  Users.updateUserProperty({ userId, propertyKey: "no_such_key", value: "x" }),
);
await step("getUserPropertyValues", () => Users.getUserPropertyValues({ userId }));

await step("updateOrganizationProperty", () =>
  Organizations.updateOrganizationProperty({ orgCode, propertyKey: "seats", value: "25" }),
);
await step("updateOrganizationProperties", () =>
  Organizations.updateOrganizationProperties({
    orgCode,
    requestBody: { properties: { kp_org_city: "Porto" } },
  }),
);
await step("getOrganizationPropertyValues", () => Organizations.getOrganizationPropertyValues({ orgCode }));

await step("updateApplicationsProperty", () =>
  Applications.updateApplicationsProperty({
    applicationId,
    propertyKey: "region",
    requestBody: { value: "eu" },
  }),
);
await step("getApplicationPropertyValues", () =>
  Applications.getApplicationPropertyValues({ applicationId }),
);

await step("searchUsers:query", () => Search.searchUsers({ query: `${tag} lisbon`, expand: "properties" }));
await step("searchUsers:properties", () =>
  Search.searchUsers({ query: "*", properties: { favourite_colour: ["teal", "navy"] }, pageSize: 5 }),
);
await step("searchUsers:none", () => Search.searchUsers({ query: `${tag} nowhere-at-all` }));

await step("deleteProperty", () => Properties.deleteProperty({ propertyId }));
await step("deleteProperty:again", () => Properties.deleteProperty({ propertyId }));
