import Foundation
import Testing
@testable import AllauthDomain

/// Social login ends as every sign-in does (`SignIn.finish`): an account with TOTP gets the
/// challenge, and `required` mode the setup challenge, never a session that skips the second factor.
struct SocialMFATests {
    @Test func anEnrolledAccountGetsTheMFAChallengeAndIsLinkedOnlyAfterTheSecondFactor() throws {
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_MFA_MODE": "optional", "JWT_ALLAUTH_SOCIAL_EMAIL_LINKING": "true"])
        let owner = try world.instance.createUser("mfa@example.com")
        let session = try world.instance.session("mfa@example.com")
        let (enrolment, _) = try world.instance.enrol(bearer: session)
        let lastLogin = try UserStore(world.instance.database()).find(id: owner.id)?.lastLogin

        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-mfa", "mfa@example.com")))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["mfa_required"]?.bool == true)
        #expect(response.json?["access"] == nil && response.cookie("refresh_token") == nil, "no session before the second factor")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0, "the link waits")
        #expect(try UserStore(world.instance.database()).find(id: owner.id)?.lastLogin == lastLogin)

        let challenge = try #require(response.json?["challenge_id"]?.string)
        let verified = try world.instance.verify(challenge, code: IndependentTOTP.code(secret: enrolment.secret, stepsFromNow: 0))
        #expect(verified.status == 200, "\(verified.text)")
        #expect(ClientSession(verified) != nil)
    }

    @Test func requiredModeGivesANewSocialAccountTheSetupChallenge() throws {
        let world = try InProcessSocialWorld(environment: ["JWT_ALLAUTH_MFA_MODE": "required"])
        let response = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-req", "req@example.com")))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["mfa_setup_required"]?.bool == true)
        #expect(response.json?["access"] == nil && response.cookie("refresh_token") == nil)
    }
}
