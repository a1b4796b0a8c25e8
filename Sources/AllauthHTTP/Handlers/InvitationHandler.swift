import AllauthDomain
import FastCGI

/// `POST registration/user-register/`: a user whose role may invite creates an account for
/// somebody else, who receives an invitation mail (as in django-jwt-allauth). The invitee's password is
/// set through `SetPasswordHandler.invitationSetPassword`.
enum InvitationHandler {
    static func invite(_ request: Request, _ context: HandlerContext) throws -> Response {
        let principal = try context.authenticate(request)
        var body = try RequestBody(request)
        let email = body.emailAddress(maxLength: 100)
        let role = body.integer("role", range: 0...32767)
        let firstName = body.personName("first_name")
        let lastName = body.personName("last_name")
        try body.validate()
        guard let email, let role else { throw APIError.badRequest("Invalid data.") }
        let invitee = Invitee(email: email, role: role, firstName: firstName, lastName: lastName)
        switch try context.flows.invitations.invite(invitee, by: .account(principal), now: context.now) {
        case .invited:
            return .json(.object([]), status: .created)
        case .emailTaken:
            throw APIError.field("email", "A user is already registered with this e-mail address.")
        case .notAllowed:
            throw APIError.forbidden("You do not have permission to perform this action.")
        case .roleAboveInviter:
            throw APIError.field("role", "You cannot invite a role above your own.")
        }
    }
}
