import FastCGI

/// `POST registration/user-register/`: a user whose role may invite creates an account for
/// somebody else, who receives an invitation mail (reference §2.13). The invitee's password is
/// set through `SetPasswordHandler.invitationSetPassword`.
enum InvitationHandler {
    static func invite(_ request: Request, _ context: HandlerContext) throws -> Response {
        let identity = try context.authenticate(request)
        guard context.config.accounts.registrationAllowedRoles.contains(identity.claims.role) else {
            throw APIError.forbidden("You do not have permission to perform this action.")
        }
        var body = try RequestBody(request)
        let email = body.emailAddress(maxLength: 100)
        let role = body.integer("role", range: 0...32767)
        let firstName = body.personName("first_name")
        let lastName = body.personName("last_name")
        try body.validate()
        guard let email, let role else { throw APIError.badRequest("Invalid data.") }
        switch try context.invitations.invite(Invitee(email: email, role: role, firstName: firstName, lastName: lastName), now: context.now) {
        case .invited:
            return .json(.object([]), status: .created)
        case .emailTaken:
            throw APIError.field("email", "A user is already registered with this e-mail address.")
        }
    }
}
