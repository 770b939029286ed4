package platform

// The replays of every test in the package read small pages and make each page
// garbage once it is applied, so that a string or payload a projection kept from
// a reused page shows as a difference from the live read models (H2).
func init() {
	readPage = 5
	poisonReleasedPages = true
}
