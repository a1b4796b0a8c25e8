/// The account a request acts for: a valid access token whose account row was read for this
/// request and found active. Its rights are the row's (`role`), never the token's claims: a
/// deactivated or demoted account loses them at its next request, not when its access token
/// expires. Every flow that acts for a user takes a `Principal`, and the only way to make one is
/// `Principal.authenticated` (called by `HandlerContext.authenticate`), so a new endpoint cannot
/// act for a user without having read the row.
public struct Principal: Sendable {
    /// The account's row as read for this request.
    public let account: UserRecord
    /// The session the access token belongs to (its `session` claim): sessions/ marks it current,
    /// reauthentication is kept per session.
    public let session: String

    public var userID: Int64 { account.id }
    /// The account's current role (the row's, not the token's `role` claim).
    public var role: Int { account.role }

    private init(account: UserRecord, session: String) {
        self.account = account
        self.session = session
    }

    /// Why a verified access token does not make a principal.
    public enum Refusal: Error, Equatable {
        /// The token names no account (deleted since it was issued).
        case noAccount
        /// The account is deactivated.
        case inactive
    }

    /// The principal of a verified access token: its account's row, which must exist and be active.
    package static func authenticated(userID: Int64, session: String, users: UserStore) throws -> Result<Principal, Refusal> {
        guard let account = try users.find(id: userID) else { return .failure(.noAccount) }
        guard account.isActive else { return .failure(.inactive) }
        return .success(Principal(account: account, session: session))
    }
}
