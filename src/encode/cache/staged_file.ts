import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

/** A file written through a buffer into a temporary name, renamed into place on commit. */
export class StagedFile {
  private readonly fd: number;
  private buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private closed = false;

  /** `temporary`: a name of the caller's (one that tells its writer apart across machines), else PATH.PID.tmp. */
  constructor(
    readonly path: string,
    readonly temporary = `${path}.${process.pid}.tmp`,
  ) {
    this.fd = openSync(this.temporary, 'w');
  }

  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.used + bytes.byteLength > this.buffer.byteLength) this.flush();
    if (bytes.byteLength > this.buffer.byteLength) writeAll(this.fd, bytes, bytes.byteLength);
    else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.byteLength;
    }
  }

  commit(): void {
    this.finish();
    renameSync(this.temporary, this.path);
  }

  /** Writes out what is buffered and closes the temporary file: complete, for the caller to rename later. */
  finish(): void {
    this.flush();
    this.close();
  }

  abort(): void {
    this.close();
    rmSync(this.temporary, { force: true });
  }

  private flush(): void {
    writeAll(this.fd, this.buffer, this.used);
    this.used = 0;
  }

  private close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }
}

function writeAll(fd: number, bytes: Uint8Array, length: number): void {
  for (let offset = 0; offset < length; ) offset += writeSync(fd, bytes, offset, length - offset);
}

