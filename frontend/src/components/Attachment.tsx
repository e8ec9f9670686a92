import { useRef, useState } from "preact/hooks";
import { api, errorDetail } from "../api";
import type { UploadedFile } from "../types";
import { formatSize } from "./MediaView";

/** What WhatsApp takes (the server checks the bytes; this only steers the file picker). */
const ACCEPT = [
  "image/jpeg", "image/png", "image/webp", "video/mp4", "video/3gpp", "audio/aac", "audio/amr",
  "audio/mpeg", "audio/mp4", "audio/ogg", "application/pdf", "text/plain", ".doc", ".docx", ".xls",
  ".xlsx", ".ppt", ".pptx",
].join(",");

export interface Attachment {
  name: string;
  uploaded: UploadedFile | null;
  uploading: boolean;
  error: string | null;
}

/** One attached file per composer: uploaded at once, so Send only names it. */
export function useAttachment() {
  const [attachment, setAttachment] = useState<Attachment | null>(null);
  const attach = async (file: File) => {
    const name = file.name || "pasted image";
    setAttachment({ name, uploaded: null, uploading: true, error: null });
    try {
      const uploaded = await api.upload(file);
      setAttachment({ name, uploaded, uploading: false, error: null });
    } catch (err) {
      setAttachment({ name, uploaded: null, uploading: false, error: errorDetail(err) });
    }
  };
  return { attachment, attach, clear: () => setAttachment(null) };
}

/** Files dropped on, or images pasted into, the composer. */
export function firstFile(list: FileList | null | undefined): File | null {
  return list && list.length > 0 ? list[0] : null;
}

export function AttachButton({ disabled, onFile }: { disabled: boolean; onFile: (file: File) => void }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={input}
        type="file"
        class="sr-only"
        tabIndex={-1}
        aria-hidden="true"
        accept={ACCEPT}
        onChange={(e) => {
          const file = firstFile(e.currentTarget.files);
          if (file) onFile(file);
          e.currentTarget.value = "";
        }}
      />
      <button type="button" class="btn" disabled={disabled} onClick={() => input.current?.click()}>
        Attach
      </button>
    </>
  );
}

export function AttachmentChip({ attachment, onRemove }: { attachment: Attachment; onRemove: () => void }) {
  const size = attachment.uploaded ? formatSize(attachment.uploaded.size) : "";
  return (
    <div class={`attachment${attachment.error ? " failed" : ""}`} role="status">
      <span class="doc-name">📎 {attachment.name}</span>
      <span class="muted small">
        {attachment.uploading ? "Uploading…" : attachment.error ? "" : `${attachment.uploaded?.kind} · ${size}`}
      </span>
      {attachment.error && <span class="error small">Not attached: {attachment.error}</span>}
      <button type="button" class="btn small" onClick={onRemove} aria-label={`Remove ${attachment.name}`}>
        Remove
      </button>
    </div>
  );
}
