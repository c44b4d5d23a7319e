import { describe, expect, it } from "vitest";
import { ApiProblem, describeError, retryAfterSeconds } from "./problem";

describe("problems a person reads", () => {
  it("a 429 says how long to wait, from Retry-After", () => {
    const body = { status: 429, code: "rate_limited", detail: "Too many requests from this user; retry after 7 s" };
    expect(describeError(new ApiProblem(429, body, 7))).toBe("Too many requests in a short time. Try again in 7 seconds.");
    expect(describeError(new ApiProblem(429, body, 1))).toBe("Too many requests in a short time. Try again in 1 second.");
    expect(describeError(new ApiProblem(429, body))).toBe("Too many requests in a short time. Try again in a moment.");
  });

  it("Retry-After is read as seconds only", () => {
    expect(retryAfterSeconds("12")).toBe(12);
    expect(retryAfterSeconds(" 3 ")).toBe(3);
    expect(retryAfterSeconds(null)).toBeUndefined();
    expect(retryAfterSeconds("Wed, 21 Oct 2026 07:28:00 GMT")).toBeUndefined();
  });

  it("other problems keep the server's detail, field errors become sentences per input", () => {
    const problem = new ApiProblem(422, {
      status: 422,
      code: "validation_failed",
      detail: "One or more fields are invalid",
      errors: [
        { field: "lines[1].quantity", message: "must be a number" },
        { field: "lines[2].name", message: "is required" },
        { field: "title", message: "is too long" },
      ],
    });
    expect(describeError(problem)).toBe("One or more fields are invalid");
    expect(problem.messagesBy((f) => (f.startsWith("lines") ? "lines" : f))).toEqual({ lines: "Must be a number", title: "Is too long" });
  });
});
