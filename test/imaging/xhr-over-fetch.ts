/**
 * The part of XMLHttpRequest that dicomweb-client (npm) uses, over Node's fetch: Node has no
 * XMLHttpRequest, and the client has no other transport. Test code only.
 */
export class XhrOverFetch {
  readyState = 0;
  status = 0;
  responseType: '' | 'arraybuffer' | 'json' | 'text' = '';
  response: unknown = null;
  withCredentials = false;
  onreadystatechange: (() => void) | null = null;
  onloadstart: (() => void) | null = null;
  onloadend: (() => void) | null = null;
  onprogress: (() => void) | null = null;
  private method = 'GET';
  private url = '';
  private readonly headers: Record<string, string> = {};
  private responseHeaders = new Headers();

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
    this.readyState = 1;
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  getResponseHeader(name: string): string | null {
    return this.responseHeaders.get(name);
  }

  getAllResponseHeaders(): string {
    return [...this.responseHeaders].map(([name, value]) => `${name}: ${value}`).join('\r\n');
  }

  send(data?: ArrayBuffer | Uint8Array | string): void {
    void fetch(this.url, { method: this.method, headers: this.headers, ...(data !== undefined ? { body: data instanceof ArrayBuffer ? new Uint8Array(data) : data } : {}) } as RequestInit).then(
      async (reply) => {
        this.status = reply.status;
        this.responseHeaders = reply.headers;
        const bytes = await reply.arrayBuffer();
        const text = () => new TextDecoder().decode(bytes);
        this.response = this.responseType === 'arraybuffer' ? bytes : this.responseType === 'json' ? (bytes.byteLength ? JSON.parse(text()) : null) : text();
        this.readyState = 4;
        this.onreadystatechange?.();
      },
      () => {
        this.readyState = 4;
        this.onreadystatechange?.();
      },
    );
  }
}
