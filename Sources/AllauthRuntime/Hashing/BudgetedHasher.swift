/// The password hasher every request uses: `PasswordHasher`'s work, each computation inside one
/// slot of the pool's `HashingBudget`, so that a login storm keeps to its share of the cores.
/// The unknown-address path (`verifyNothing`) takes a slot too: it must cost what a real check
/// costs, waiting included, or the time would tell which addresses exist.
/// Waiting for a slot and hashing are both long (a fifth of a second a hash), so the request thread
/// first gives its turn to another (`Blocking`): the worker's other requests do not queue behind it.
/// This is the only way a request hashes: `PasswordHasher`'s own methods are internal to this
/// target (the command line, which is no request and holds no slot, has `PasswordHasher.offline`).
package struct BudgetedHasher {
    let hasher: PasswordHasher
    let budget: HashingBudget

    package init(hasher: PasswordHasher, budget: HashingBudget) {
        self.hasher = hasher
        self.budget = budget
    }

    package func hash(_ password: String) throws -> String {
        try inSlot { hasher.hash(password) }
    }

    /// `failureCost`: see `PasswordHasher.verify`; where the answer's timing must not tell which
    /// accounts exist (login), the highest round count stored (`StoredRoundsCeiling`).
    package func verify(_ password: String, against encoded: String, failureCost: Int = 0) throws -> PasswordHasher.Verdict {
        try inSlot { hasher.verify(password, against: encoded, failureCost: failureCost) }
    }

    package func verifyNothing(_ password: String, failureCost: Int = 0) throws {
        try inSlot { hasher.verifyNothing(password, failureCost: failureCost) }
    }

    private func inSlot<T>(_ work: () throws -> T) throws -> T {
        try Blocking.run { () throws -> T in try budget.withSlot(work) }
    }
}
