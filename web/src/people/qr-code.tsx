import { toCanvas } from "qrcode";
import { useEffect, useRef } from "react";

/** A QR code of `text`, drawn on a canvas (no image URL to allow, nothing sent anywhere). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (canvas.current) void toCanvas(canvas.current, text, { errorCorrectionLevel: "M", margin: 4, width: 232 });
  }, [text]);
  return <canvas ref={canvas} className="qr-code" role="img" aria-label={label} />;
}
