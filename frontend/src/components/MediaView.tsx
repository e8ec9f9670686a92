import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorDetail } from "../api";
import { asObject, showBidi } from "../format";
import type { Action } from "../store";
import type { Message, MessageMedia } from "../types";

const KIND_LABEL: Record<string, string> = {
  image: "photo",
  sticker: "sticker",
  audio: "audio",
  video: "video",
  document: "document",
};

export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Fullscreen photo viewer: a modal dialog, closed with Escape, the button or a click outside. */
function Viewer({ src, alt, onClose }: { src: string; alt: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
    return () => el?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="media-viewer"
      aria-label="Photo"
      onClose={onClose}
      onClick={(e) => {
        if (e.target === dialog.current) onClose();
      }}
    >
      <img src={src} alt={alt} />
      <button type="button" class="btn" onClick={onClose}>
        Close
      </button>
    </dialog>
  );
}

const SPEEDS = [1, 1.5, 2];

/** Voice notes and audio: the browser's player (seek via range requests) and a speed toggle. */
function AudioPlayer({ media, url }: { media: MessageMedia; url: string }) {
  const audio = useRef<HTMLAudioElement>(null);
  const [duration, setDuration] = useState<number | null>(null);
  const [speed, setSpeed] = useState(1);
  const label = media.voice ? "Voice note" : "Audio";
  return (
    <div class="media-audio">
      <audio
        ref={audio}
        controls
        preload="metadata"
        src={url}
        aria-label={label}
        onLoadedMetadata={(e) => setDuration(e.currentTarget.duration)}
        onDurationChange={(e) => setDuration(e.currentTarget.duration)}
      />
      <span class="media-meta small">
        {label}
        {duration !== null && Number.isFinite(duration) && <span class="duration"> · {formatDuration(duration)}</span>}
      </span>
      <button
        type="button"
        class="btn small"
        aria-label={`Playback speed ${speed}×`}
        onClick={() => {
          const next = SPEEDS[(SPEEDS.indexOf(speed) + 1) % SPEEDS.length];
          setSpeed(next);
          if (audio.current) audio.current.playbackRate = next;
        }}
      >
        {speed}×
      </button>
    </div>
  );
}

/** A stored file, shown the way its kind wants: photo, sticker, player or download card. */
function Stored({ media, url }: { media: MessageMedia; url: string }) {
  const [open, setOpen] = useState(false);
  const alt = media.caption ?? (media.kind === "sticker" ? "Sticker" : "Photo");
  if (media.kind === "image") {
    return (
      <>
        <button type="button" class="media-thumb" aria-label="Open photo" onClick={() => setOpen(true)}>
          <img src={url} alt={alt} loading="lazy" />
        </button>
        {open && <Viewer src={url} alt={alt} onClose={() => setOpen(false)} />}
      </>
    );
  }
  if (media.kind === "sticker") return <img class="media-sticker" src={url} alt={alt} loading="lazy" />;
  if (media.kind === "audio") return <AudioPlayer media={media} url={url} />;
  if (media.kind === "video")
    return <video class="media-video" controls preload="metadata" src={url} aria-label="Video" />;
  const name = showBidi(media.filename ?? "document");
  return (
    <div class="media-document">
      <span class="doc-icon" aria-hidden="true">
        📄
      </span>
      <span class="doc-info">
        <span class="doc-name">{name}</span>
        <span class="muted small">
          {[media.mime_type?.split(";")[0], formatSize(media.size)].filter(Boolean).join(" · ")}
        </span>
      </span>
      <a class="btn small" href={url} download={name}>
        Download
      </a>
    </div>
  );
}

export function MediaView({ m, dispatch }: { m: Message; dispatch: (a: Action) => void }) {
  const media = m.media;
  const [retrying, setRetrying] = useState(false);
  const [retryError, setRetryError] = useState<string | null>(null);
  if (!media) return null;
  const what = KIND_LABEL[media.kind] ?? "file";
  if (media.state === "stored" && media.url) return <Stored media={media} url={media.url} />;
  if (media.state === "failed") {
    const retry = async () => {
      setRetrying(true);
      setRetryError(null);
      try {
        const updated = await api.retryMedia(m.id);
        dispatch({ type: "message/upsert", message: updated, source: "event" });
      } catch (err) {
        setRetryError(errorDetail(err));
      } finally {
        setRetrying(false);
      }
    };
    return (
      <div class="media-failed" role="group" aria-label={`The ${what} could not be fetched`}>
        <p class="error small">
          Could not fetch the {what}
          {media.error ? `: ${media.error}` : ""}
        </p>
        <button type="button" class="btn small" disabled={retrying} onClick={() => void retry()}>
          Retry
        </button>
        {retryError && (
          <p role="alert" class="error small">
            {retryError}
          </p>
        )}
      </div>
    );
  }
  return (
    <p class="media-pending muted small" role="status">
      Fetching the {what}…{media.error ? ` (${media.error})` : ""}
    </p>
  );
}

/** A shared location: name, address and a link to OpenStreetMap (a link, nothing loaded). */
export function LocationCard({ payload }: { payload: unknown }) {
  const place = asObject(payload);
  const lat = Number(place?.latitude);
  const lon = Number(place?.longitude);
  if (!place || !Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  const name = typeof place.name === "string" ? place.name : null;
  const address = typeof place.address === "string" ? place.address : null;
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
  return (
    <div class="media-location">
      <span class="doc-icon" aria-hidden="true">
        📍
      </span>
      <span class="doc-info">
        <span class="doc-name">{name ?? "Location"}</span>
        {address && <span class="muted small">{address}</span>}
        <a href={href} target="_blank" rel="noopener noreferrer">
          Open in OpenStreetMap
        </a>
      </span>
    </div>
  );
}
