/**
 * Which driver errors count as the database being unavailable (503, retry later) and which stay
 * what they were: constraint violations keep their 4xx codes, and a statement the server refuses
 * or a bug in TokenForge stays io_error (500). The real errors are exercised end to end in
 * outage.test.ts; here each shape the drivers produce is checked on its own.
 */
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors.js";
import { isConnectionError, toStoreError } from "../../src/store/db/sql-errors.js";

const ctx = { what: "listing runs" };

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("store errors from a lost or refused connection", () => {
  it("are unavailable, a 503", () => {
    expect(ERROR_CODES.unavailable).toBe(503);
    const lost = [
      withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      withCode("read ECONNRESET", "ECONNRESET"),
      withCode("write EPIPE", "EPIPE"),
      withCode("connect ETIMEDOUT 10.0.0.1:5432", "ETIMEDOUT"),
      withCode("getaddrinfo EAI_AGAIN db", "EAI_AGAIN"),
      new Error("Connection terminated unexpectedly"),
      new Error("Connection terminated due to connection timeout"),
      new Error("timeout exceeded when trying to connect"),
      new Error("Client has encountered a connection error and is not queryable"),
      withCode("terminating connection due to administrator command", "57P01"),
      withCode("the database system is starting up", "57P03"),
      withCode("sorry, too many clients already", "53300"),
      withCode("connection failure", "08006"),
      Object.assign(new AggregateError([withCode("connect ECONNREFUSED ::1:5432", "ECONNREFUSED")], ""), {
        code: "ECONNREFUSED",
      }),
      new AggregateError([
        withCode("connect ECONNREFUSED ::1:5432", "ECONNREFUSED"),
        withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      ]),
    ];
    for (const err of lost) {
      expect(isConnectionError(err), err.message).toBe(true);
      const coded = toStoreError(err, ctx);
      expect(coded.code, err.message).toBe("unavailable");
      expect(coded.status).toBe(503);
      expect(coded.message).toMatch(/^listing runs failed: the database is unavailable \(.+\)/);
      expect(coded.cause).toBe(err);
    }
  });
});

describe("store errors that are not an outage", () => {
  it("keep their codes: constraint violations 4xx, refused statements and bugs io_error", () => {
    const cases: [unknown, string][] = [
      [withCode('duplicate key value violates unique constraint "runs_pkey"', "23505"), "conflict"],
      [withCode("insert or update violates foreign key constraint", "23503"), "not_found"],
      [withCode("new row violates check constraint", "23514"), "invalid_request"],
      [withCode("index row size 3016 exceeds btree version 4 maximum 2704", "54000"), "invalid_request"],
      [withCode('relation "no_such_table" does not exist', "42P01"), "io_error"],
      [withCode("syntax error at or near", "42601"), "io_error"],
      [withCode("permission denied for table runs", "42501"), "io_error"],
      [new TypeError("Cannot read properties of undefined"), "io_error"],
      [new Error("Cannot use a pool after calling end on the pool"), "io_error"],
      [new AggregateError([withCode("refused", "ECONNREFUSED"), new TypeError("bug")]), "io_error"],
      [new AggregateError([]), "io_error"],
      ["a thrown string", "io_error"],
    ];
    for (const [err, code] of cases) {
      expect(toStoreError(err, ctx).code, String(err)).toBe(code);
      expect(isConnectionError(err), String(err)).toBe(false);
    }
  });
});
