/** Tencent's UserSig generator ships without types; this covers the part the project uses. */
declare module 'tls-sig-api-v2' {
  export class Api {
    constructor (sdkappid: number, key: string)
    /** A UserSig for `userid`, valid `expire` seconds from the library's own clock. */
    genUserSig (userid: string, expire: number): string
  }
}
