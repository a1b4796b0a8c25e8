/// The failed-password limits shared by `login/` and `password/change/` (a wrong old password is a
/// guess like a wrong login): failures per client network across all accounts (`throttle.login_ip`),
/// and failures per account from one client network (`throttle.login_account`).
///
/// The account's budget is kept per client network, not for the account as a whole (OWASP ASVS
/// 2.2.1: anti-automation that also resists account lockout attacks): failures from one place use
/// up that place's guesses at this account and nothing else, so an attacker cannot lock the owner
/// out, while each address the attacker holds gets a bounded number of guesses (docs/configuration.md,
/// "Login limits, not lockouts").
package enum FailedLoginBudget {
    /// The 429's detail, the same on both endpoints.
    package static let exhausted = "Too many failed login attempts. Try again later."

    /// The buckets one failed attempt at `account` (an e-mail address) from `client` (nginx's
    /// `REMOTE_ADDR`) counts against.
    package static func buckets(account: String, client: String, _ limits: ThrottleSettings) -> [(bucket: String, rate: Rate?)] {
        let network = ClientNetwork.of(client)
        return [
            (Throttle.bucket("login_ip", network), limits.loginIP),
            (Throttle.bucket("login_account", UserStore.normalise(account) + " from " + network), limits.loginAccount),
        ]
    }
}
