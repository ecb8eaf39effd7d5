import { ErrorCode, MeshbridgeError } from '../../errors/index.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Login paths, newest first: 3.x, then 1.x/2.x (still served by 3.0/3.1). */
const LOGIN_PATHS = ['/nacos/v3/auth/user/login', '/nacos/v1/auth/users/login'];

/**
 * Holds a Nacos access token. Contract: `token()` logs in when there is no token or it is within
 * the last tenth of its tokenTtl (Nacos's own client refreshes in that window); `invalidate()`
 * (after an errorCode 403) forces the next `token()` to log in again. Passwords never appear in
 * errors.
 */
export class NacosAuth {
  private current: { token: string; expiresAt: number; refreshAt: number } | undefined;

  constructor(
    private readonly o: { readonly httpAddress: () => string; readonly credentials: Credentials; readonly timeoutMs: number },
  ) {}

  /** The headers for requests: `{accessToken}` once logged in. */
  headers(): Readonly<Record<string, string>> {
    return this.current !== undefined ? { accessToken: this.current.token } : {};
  }

  invalidate(): void {
    this.current = undefined;
  }

  async ensure(signal: AbortSignal): Promise<void> {
    if (this.current !== undefined && Date.now() < this.current.refreshAt) return;
    let lastError = '';
    for (const path of LOGIN_PATHS) {
      const url = `http://${this.o.httpAddress()}${path}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: this.o.credentials.username, password: this.o.credentials.password }).toString(),
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
        });
      } catch (e) {
        lastError = `${path}: ${e instanceof Error ? e.message : String(e)}`;
        continue;
      }
      const text = await res.text();
      if (res.status === 404 || res.status === 410 || res.status === 405) {
        lastError = `${path}: HTTP ${res.status}`;
        continue;
      }
      if (!res.ok) throw new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `Nacos login refused (HTTP ${res.status} from ${path})`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `Nacos login answered something that is not JSON (${path})`);
      }
      const b = (typeof body === 'object' && body !== null ? body : {}) as { accessToken?: unknown; tokenTtl?: unknown };
      if (typeof b.accessToken !== 'string' || b.accessToken === '') {
        throw new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `Nacos login answered no accessToken (${path})`);
      }
      const ttlMs = (typeof b.tokenTtl === 'number' && b.tokenTtl > 0 ? b.tokenTtl : 18000) * 1000;
      const now = Date.now();
      this.current = { token: b.accessToken, expiresAt: now + ttlMs, refreshAt: now + ttlMs - ttlMs / 10 };
      return;
    }
    throw new MeshbridgeError(ErrorCode.REGISTRY_UNREACHABLE, `Nacos login failed: ${lastError}`);
  }
}
