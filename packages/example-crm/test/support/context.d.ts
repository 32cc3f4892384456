// The PostgreSQL URL the shared global setup (packages/sql/test/support/postgres.ts) provides.
declare module "vitest" {
  export interface ProvidedContext {
    readonly pgUrl: string | undefined
  }
}
export {}
