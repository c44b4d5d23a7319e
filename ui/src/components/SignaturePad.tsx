import { useEffect, useRef, useState, type PointerEvent } from "react";

/** The words of the pad: the technician app's by default, the client hub's its own. */
export interface SignatureLabels {
  pad: string;
  name: string;
  save: string;
  saved?: string;
}

const FIELD_LABELS: SignatureLabels = {
  pad: "Signature pad: the client signs here with a finger",
  name: "Client's printed name",
  save: "Save signature",
  saved: "Signature saved. It is sent to the job with the visit.",
};

/**
 * The client signs with a finger; the drawing is saved as a PNG with the printed
 * name under it. A keyboard cannot draw, so the printed name is its own field.
 * Shared by the technician app (a visit's signature) and the client hub (a quote's
 * approval).
 */
export function SignaturePad({
  onSave,
  disabled,
  labels = FIELD_LABELS,
}: {
  onSave: (png: Blob, name: string) => Promise<void>;
  disabled?: boolean;
  labels?: SignatureLabels;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const [drawn, setDrawn] = useState(false);
  const [name, setName] = useState("");
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const ratio = window.devicePixelRatio || 1;
    c.width = Math.round(c.clientWidth * ratio);
    c.height = Math.round(c.clientHeight * ratio);
    const context = c.getContext("2d");
    if (!context) return;
    context.scale(ratio, ratio);
    context.lineWidth = 2.5;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = "#16181d";
  }, []);

  function point(event: PointerEvent<HTMLCanvasElement>) {
    const rect = event.currentTarget.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function down(event: PointerEvent<HTMLCanvasElement>) {
    const context = event.currentTarget.getContext("2d");
    if (!context) return;
    event.currentTarget.setPointerCapture(event.pointerId);
    drawing.current = true;
    const { x, y } = point(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x + 0.1, y + 0.1);
    context.stroke();
    setDrawn(true);
    setSaved(false);
  }

  function move(event: PointerEvent<HTMLCanvasElement>) {
    if (!drawing.current) return;
    const context = event.currentTarget.getContext("2d");
    if (!context) return;
    const { x, y } = point(event);
    context.lineTo(x, y);
    context.stroke();
  }

  function up() {
    drawing.current = false;
  }

  function clear() {
    const c = canvas.current;
    c?.getContext("2d")?.clearRect(0, 0, c.width, c.height);
    setDrawn(false);
    setSaved(false);
  }

  async function save() {
    const c = canvas.current;
    if (!c) return;
    // White background and the printed name under the drawing.
    const out = document.createElement("canvas");
    out.width = c.width;
    out.height = c.height + 40 * (window.devicePixelRatio || 1);
    const context = out.getContext("2d");
    if (!context) return;
    context.fillStyle = "#fff";
    context.fillRect(0, 0, out.width, out.height);
    context.drawImage(c, 0, 0);
    context.fillStyle = "#16181d";
    context.font = `${16 * (window.devicePixelRatio || 1)}px sans-serif`;
    context.fillText(`${name.trim()} · ${new Date().toLocaleString()}`, 12, out.height - 14);
    const blob = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, "image/png"));
    if (!blob) return;
    await onSave(blob, name.trim());
    setSaved(true);
  }

  return (
    <div className="fld-signature">
      <canvas
        ref={canvas}
        className="fld-signature__pad"
        role="img"
        aria-label={labels.pad}
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={up}
        onPointerCancel={up}
      />
      <div className="field">
        <label htmlFor="signature-name">{labels.name}</label>
        <input id="signature-name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
      </div>
      <div className="fld-row">
        <button type="button" className="button" onClick={clear} disabled={!drawn}>
          Clear
        </button>
        <button type="button" className="button button--primary" onClick={() => void save()} disabled={disabled || !drawn || !name.trim()}>
          {labels.save}
        </button>
      </div>
      {saved && labels.saved && (
        <p className="fld-note" role="status">
          {labels.saved}
        </p>
      )}
    </div>
  );
}
