// Statements built once instead of once per request (issue 21). Building and compiling a Kysely
// query was about a fifth of a token refresh's main-thread time (`bench/profile.ts refresh`: object
// freezing, node visiting, reference parsing), and PostgreSQL parses and plans an unnamed statement
// at every execution: 3 ms of the server's CPU for the refresh's claims read, five times what
// running it costs (pg_stat_statements, track_planning).
//
// A prepared statement is built and compiled once per dialect with placeholders where its values
// go; an execution only puts the values in. On PostgreSQL its text is also declared under a name
// (statement-names.ts, which names other statements that repeat too), and the pool's connections
// send it as a named statement (database.ts): parsed once per connection and planned once.
//
// A prepared statement names its columns: PostgreSQL refuses to run a named statement whose result
// type has changed ("cached plan must not change result type"), so `select *` over a table to which
// a newer instance's migration adds a column would break this instance's statement on every
// connection until it restarts (a rolling upgrade). Compiling refuses `*`.
//
// The builder must hand each value to Kysely and nothing else: it runs once, with placeholders, so
// a branch on a value (`x === null ? … : …`) would be taken once for every later execution. A value
// that changes the statement's shape belongs in the statement's choice (one prepared statement per
// shape), not in its values.
import {
  type CompiledQuery,
  createQueryId,
  type OperationNode,
  type QueryResult,
  type RawNode,
  type ReferenceNode,
  type SelectionNode,
} from "kysely";
import { isPostgres } from "../management/listing.js";
import type { Db } from "./database.js";
import { declareStatement } from "./statement-names.js";

/** Stands for one value while the statement is compiled. */
class Placeholder {
  constructor(readonly key: string) {}
}

/** What a builder returns: a query builder or a `sql` template, compiled against the database. */
interface Buildable<R> {
  compile(db: Db): CompiledQuery<R>;
}

interface Template {
  readonly compiled: CompiledQuery;
  /** Per parameter: the key of the value it takes, or undefined for a constant of the statement. */
  readonly slots: readonly (string | undefined)[];
}

export class PreparedStatement<V extends Record<string, unknown>, R> {
  readonly #templates: { postgres?: Template; sqlite?: Template } = {};

  constructor(
    readonly name: string,
    private readonly build: (db: Db, values: V) => Buildable<R>,
  ) {}

  async execute(db: Db, values: V): Promise<QueryResult<R>> {
    const dialect = isPostgres(db) ? "postgres" : "sqlite";
    let template = this.#templates[dialect];
    if (!template) {
      template = this.#compile(db, dialect === "postgres");
      this.#templates[dialect] = template;
    }
    const constants = template.compiled.parameters;
    const parameters = template.slots.map((key, i) => {
      if (key === undefined) return constants[i];
      const value = values[key];
      // Kysely leaves an undefined column out of a statement; compiled, it would be written as null.
      if (value === undefined) throw new Error(`prepared statement ${this.name}: no value for ${key}`);
      return value;
    });
    return db.executeQuery<R>({ ...template.compiled, parameters, queryId: createQueryId() });
  }

  /** The rows. */
  async rows(db: Db, values: V): Promise<R[]> {
    return (await this.execute(db, values)).rows;
  }

  /** The first row, if any. */
  async first(db: Db, values: V): Promise<R | undefined> {
    return (await this.execute(db, values)).rows[0];
  }

  #compile(db: Db, postgres: boolean): Template {
    const asked = new Set<string>();
    const placeholders = new Proxy({} as V, {
      get(_, key) {
        if (typeof key !== "string") return undefined;
        asked.add(key);
        return new Placeholder(key);
      },
    });
    const compiled = this.build(db, placeholders).compile(db);
    const slots = compiled.parameters.map((parameter) =>
      parameter instanceof Placeholder ? parameter.key : undefined,
    );
    // A value the builder looked at but Kysely never received was used to decide the shape (or
    // dropped, as Kysely drops an undefined column value): the statement would be wrong for others.
    const missing = [...asked].filter((key) => !slots.includes(key));
    if (missing.length > 0) {
      throw new Error(`prepared statement ${this.name}: ${missing.join(", ")} did not become parameters`);
    }
    if (resultNamesEverything(compiled.query)) {
      throw new Error(`prepared statement ${this.name}: name the columns instead of *`);
    }
    if (postgres) declareStatement(compiled.sql, this.name);
    return { compiled, slots };
  }
}

/**
 * The statement's own result columns include a `*` (`select *`, `t.*`, `returning *`). Only the top
 * level fixes the result type: a subquery's or a CTE's `*` does not. A `sql` template is read as
 * text (its fragments, not the queries embedded in it).
 */
function resultNamesEverything(node: OperationNode): boolean {
  if (node.kind === "RawNode") {
    const text = (node as RawNode).sqlFragments.join(" ? ");
    return /\bselect\s+(distinct\s+(on\s*\([^)]*\)\s*)?)?\*|\.\*|\breturning\s+\*/i.test(text);
  }
  const { selections = [], returning } = node as {
    selections?: readonly SelectionNode[];
    returning?: { selections: readonly SelectionNode[] };
  };
  return [...selections, ...(returning?.selections ?? [])].some(
    ({ selection }) =>
      selection.kind === "SelectAllNode" ||
      (selection.kind === "ReferenceNode" && (selection as ReferenceNode).column.kind === "SelectAllNode"),
  );
}

/** A statement compiled once per dialect; `build` receives placeholders for `values` (see above). */
export function prepared<V extends Record<string, unknown>, R>(
  name: string,
  build: (db: Db, values: V) => Buildable<R>,
): PreparedStatement<V, R> {
  return new PreparedStatement(name, build);
}
