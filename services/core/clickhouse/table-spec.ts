/** A table the sink inserts into and the columns each insert names (the tables themselves: services/sink/tables.ts). */
export interface TableSpec<Row> {
  name: string;
  /** Columns every insert names, in this order. */
  columns: ReadonlyArray<keyof Row & string>;
}
