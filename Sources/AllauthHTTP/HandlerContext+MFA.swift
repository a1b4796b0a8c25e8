import AllauthCore
import AllauthDomain
import FastCGI
import Foundation
import HTTPTypes

/// The second-factor flows, wired to this request's connection, and the one translation of a
/// `SignInOutcome` into HTTP that every sign-in endpoint shares.
extension HandlerContext {
    static let mfaDisabled = APIError.forbidden("MFA TOTP is disabled.")

    /// The key that seals TOTP secrets; the MFA endpoints answer 403 while the mode is disabled
    /// (and `serve` refuses to start in another mode without the key).
    func requireMFAKey() throws -> MFAKey {
        guard config.mfa.mode != .disabled, let key = service.mfaKey else { throw Self.mfaDisabled }
        return key
    }


    /// What the client gets at the end of a sign-in: the session (as `/login/` answers it), the
    /// MFA challenge, the setup challenge, or 429 while the user is locked out. `extra` members
    /// (a `detail`) join every body.
    func signInResponse(_ outcome: SignInOutcome, extra: [(String, JSON)] = [], status: HTTPResponse.Status = .ok) throws -> Response {
        switch outcome {
        case .session(let issued):
            return sessionResponse(issued, extra: extra, status: status)
        case .mfaChallenge(let id):
            return .json(.object([("mfa_required", true), ("challenge_id", .string(id))] + extra), status: status)
        case .mfaSetupChallenge(let id):
            return .json(.object([("mfa_setup_required", true), ("setup_challenge_id", .string(id))] + extra), status: status)
        case .mfaLockedOut(let retryAfter):
            throw APIError.throttled("Too many failed MFA attempts. Try again later. Expected available in \(retryAfter) seconds.",
                                     retryAfter: retryAfter)
        }
    }
}

