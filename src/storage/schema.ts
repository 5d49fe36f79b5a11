// Row types of every table, the single TypeScript description of the schema the migrations build.
// Conventions that keep one query path for both dialects: times are integer epoch seconds,
// booleans are 0/1 integers, structured values are JSON text. Text primary keys are declared NOT NULL
// explicitly (SQLite would otherwise accept NULL keys).

export interface BusinessTable {
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface Schema {
  business: BusinessTable;
}
