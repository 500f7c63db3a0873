import { html } from '../html'
import type { MediaCredentials } from '../logic/wire'

/** The media credentials a call carries: what an app would hand to TRTC or Agora (no media here). */
export function MediaCredentialsView ({ credentials }: { credentials: MediaCredentials }) {
  const { tencen_rtc: trtc, rtc } = credentials
  if (trtc !== undefined) {
    return html`<dl class="credentials" aria-label="TRTC credentials">
      <dt>Provider</dt><dd>Tencent TRTC</dd>
      <dt>SDKAppID</dt><dd>${trtc.sdk_app_id}</dd>
      <dt>Room</dt><dd><code>${trtc.room_id}</code></dd>
      <dt>User</dt><dd><code>${trtc.user_id}</code></dd>
      <dt>UserSig</dt><dd><code class="secret-value">${trtc.user_sig}</code></dd>
    </dl>`
  }
  if (rtc !== undefined) {
    return html`<dl class="credentials" aria-label="RTC credentials">
      <dt>Provider</dt><dd>RTC (Agora)</dd>
      <dt>App id</dt><dd><code>${rtc.app_id}</code></dd>
      <dt>Channel</dt><dd><code>${rtc.channel_id}</code></dd>
      <dt>User</dt><dd><code>${rtc.user_id}</code></dd>
      <dt>Token</dt><dd><code class="secret-value">${rtc.token}</code></dd>
    </dl>`
  }
  return html`<p>No media credentials with this call.</p>`
}
