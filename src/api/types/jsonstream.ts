/**
 * The JSON messages of Docker's progress streams: pull, push, build, load, import and Berth's
 * bootstrap (moby's `api/types/jsonstream`). A stream is one message after another; the last
 * carries `error` when the work failed after the stream began.
 */
export interface ProgressDetail {
  current?: number;
  total?: number;
  start?: number;
  units?: string;
  hidecounts?: boolean;
}

/** One message of a progress stream (moby's jsonmessage.JSONMessage). */
export interface JsonMessage {
  stream?: string;
  status?: string;
  progress?: string;
  progressDetail?: ProgressDetail;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: Record<string, unknown> & { ID?: string; Tag?: string; Digest?: string; Size?: number };
}
