import AllauthRuntime
import AllauthStore
import Foundation

/// `password/reset/`: someone asks for a reset link for an address. One answer whether the address
/// has an account or not, in no less than `minimumDuration`; the limits protect both the service
/// (per client network) and the mailbox (per address, whoever asks).
package struct RequestPasswordReset {
    let throttle: Throttle
    let limits: ThrottleSettings
    let reset: PasswordReset

    /// Every accepted request takes at least this long, whether a mail was queued or not, so the
    /// answer's timing does not tell which addresses have accounts (the reference's floor).
    package static let minimumDuration: TimeInterval = 0.5

    package enum Outcome: Equatable {
        /// The answer is "sent", whether or not a mail was queued.
        case accepted
        /// This client network asked too often, for any address or for this one.
        case throttled(retryAfter: Int)
    }

    /// `client`: nginx's `REMOTE_ADDR`; `started`: when the request arrived (the floor counts from it).
    package func callAsFunction(email: String, client: String, started: Date, now: Int64) throws -> Outcome {
        // Counted before the look-up, so unknown addresses run out exactly like known ones. The 429
        // is per client network and per target address from that network: requests from elsewhere
        // for the same address cannot make the owner's own request fail.
        let network = ClientNetwork.of(client)
        if case .limited(let retryAfter) = try throttle.consume([
            (Throttle.bucket("password_reset_ip", network), limits.passwordResetIP),
            (Throttle.bucket("password_reset_address", email + " from " + network), limits.passwordResetAddress),
        ]) {
            return .throttled(retryAfter: retryAfter)
        }
        // What protects the mailbox is the address's own mail budget, whoever asks. Once it is
        // spent no new link is issued: the answer stays the same, and the last link mailed stays
        // the one that works, so the owner can still reset through a flood of requests.
        if case .allowed = try throttle.consume([(Throttle.bucket("password_reset_mail", email), limits.passwordResetAddress)]) {
            try reset.request(email: email, now: now)
        }
        // A deliberate wait: the worker's running turn goes to another request meanwhile.
        Blocking.sleep(seconds: Self.minimumDuration - Date().timeIntervalSince(started))
        return .accepted
    }
}
