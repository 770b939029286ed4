package account

// Role is a platform-wide right of an account. Organization roles (O4) live with
// organizations.
type Role string

// Roles. Their names are stored in events: never rename one.
const (
	// RoleOperator runs the platform: issues prepaid codes, sets email domains,
	// marks resellers, unlocks accounts.
	RoleOperator Role = "operator"
	// RoleAuditor reads the whole history and changes nothing.
	RoleAuditor Role = "auditor"
)

// ParseRole returns the role named s, or ErrUnknownRole (EInvalid).
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOperator, RoleAuditor:
		return r, nil
	}
	return "", ErrUnknownRole
}

// normalizeRoles returns roles checked, without repeats, in the order of first
// mention; nil for none.
func normalizeRoles(roles []Role) ([]Role, error) {
	var out []Role
	for _, r := range roles {
		if _, err := ParseRole(string(r)); err != nil {
			return nil, err
		}
		if !hasRole(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func hasRole(roles []Role, r Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}
