//! Settings: typed, validated, with defaults (`orc config`, `orc configure`).
//!
//! Every key is declared once in [`KEYS`] ([`keys`]) with its default and its rule. Values are
//! stored in the `config` table ([`table`], the only code that touches it) in canonical form; a
//! key that is not stored has its default. Changes go through [`apply`] ([`mod@apply`]), which
//! validates each value, then the settings as a whole, and writes every change with an audit
//! row in one transaction — or changes nothing.
//!
//! Other modules read settings with [`Settings::load`] and its typed fields.

mod apply;
mod keys;
mod settings;
pub mod table;

pub use apply::{Applied, Change, apply, check, set};
pub use keys::{KEYS, KeyDef, key_def, normalize};
pub use settings::{Entry, Settings, run_as_default};
pub use table::keys_naming_credential;
