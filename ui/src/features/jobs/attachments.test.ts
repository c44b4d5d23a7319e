import { describe, expect, it } from "vitest";
import { visitSignature, type Attachment } from "./api";

const attachment = (over: Partial<Attachment>): Attachment => ({
  id: "a",
  job_id: "j1",
  visit_id: "v1",
  kind: "photo",
  filename: "IMG_0001.JPG",
  content_type: "image/jpeg",
  bytes: 10,
  url: "/files/a",
  thumbnail_url: null,
  thumbnail_status: "ready",
  uploaded_by: "u1",
  created_at: "2026-12-03T10:00:00Z",
  ...over,
});

describe("the visit's signature", () => {
  it("is the visit's newest attachment the uploader called a signature, whatever its file name", () => {
    const list = [
      attachment({ id: "s1", kind: "signature", filename: "IMG_0002.PNG", content_type: "image/png" }),
      // Named like the field app's old signatures, but a photo.
      attachment({ id: "p1", kind: "photo", filename: "signature-Priya.png", content_type: "image/png" }),
      attachment({ id: "s2", kind: "signature", filename: "sig.jpg" }),
      attachment({ id: "s3", kind: "signature", visit_id: "v2" }),
    ];
    expect(visitSignature(list, "v1")?.id).toBe("s2");
    expect(visitSignature(list, "v2")?.id).toBe("s3");
    expect(visitSignature([attachment({})], "v1")).toBeUndefined();
    expect(visitSignature(undefined, "v1")).toBeUndefined();
  });
});
