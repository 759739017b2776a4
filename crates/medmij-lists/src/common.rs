//! What the four list types share, written once.

/// Declares a list's release enum: one variant per supported release
/// (dakpanmodel: releases live side by side), with its namespace and
/// content model.
macro_rules! release_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => ($ns:literal, $schema:ident) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every supported release.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The first (oldest) supported release.
            pub(crate) const FIRST: $name = {
                let [first, ..] = [$($name::$variant),+];
                first
            };

            /// The XML namespace of this release.
            pub fn namespace(self) -> &'static str {
                match self {
                    $($name::$variant => $ns),+
                }
            }

            pub(crate) fn schema(self) -> &'static crate::xml::Schema {
                match self {
                    $($name::$variant => &$schema),+
                }
            }
        }
    };
}

/// Implements what every list type shares: equality on content (not on the
/// lookup index), the parsing entry points, and the header accessors. The
/// list and its builder both keep their entries in the field `$entries`,
/// and the list has an `assemble(release, tijdstempel, volgnummer, entries)`
/// constructor.
macro_rules! list_common {
    ($list:ident, $release:ident, $builder:ident, $entries:ident, $what:literal) => {
        impl PartialEq for $list {
            fn eq(&self, other: &Self) -> bool {
                self.release == other.release
                    && self.tijdstempel == other.tijdstempel
                    && self.volgnummer == other.volgnummer
                    && self.$entries == other.$entries
            }
        }

        impl Eq for $list {}

        impl $list {
            #[doc = concat!("Parses and fully validates a ", $what, " with the default [`ParseOptions`](crate::ParseOptions).")]
            pub fn from_bytes(input: &[u8]) -> Result<Self, crate::ParseErrors> {
                Self::from_bytes_with(input, &crate::ParseOptions::default())
            }

            #[doc = concat!("Parses and fully validates a ", $what, ".")]
            pub fn from_bytes_with(
                input: &[u8],
                opts: &crate::ParseOptions,
            ) -> Result<Self, crate::ParseErrors> {
                let (driver, root) = crate::xml::Driver::new(input, opts)?;
                Self::from_driver(driver, &root)
            }

            pub(crate) fn from_driver(
                driver: crate::xml::Driver<'_>,
                root: &crate::xml::Root,
            ) -> Result<Self, crate::ParseErrors> {
                // An unknown namespace is reported by the driver against
                // the first release.
                let release = $release::ALL
                    .iter()
                    .copied()
                    .find(|r| root.namespace.as_deref() == Some(r.namespace()))
                    .unwrap_or($release::FIRST);
                let mut b = $builder::default();
                driver.run(release.schema(), root, &mut b)?;
                match (b.tijdstempel, b.volgnummer) {
                    (Some(t), Some(v)) => Ok(Self::assemble(release, t, v, b.$entries)),
                    // The driver reports every missing or invalid header value.
                    _ => Err(crate::internal_error()),
                }
            }

            /// The release (namespace) the list was read in.
            pub fn release(&self) -> $release {
                self.release
            }

            /// The Tijdstempel.
            pub fn tijdstempel(&self) -> &crate::Tijdstempel {
                &self.tijdstempel
            }

            /// The Volgnummer.
            pub fn volgnummer(&self) -> &crate::Volgnummer {
                &self.volgnummer
            }

            /// The number of entries.
            pub fn len(&self) -> usize {
                self.$entries.len()
            }

            /// Whether the list has no entries.
            pub fn is_empty(&self) -> bool {
                self.$entries.is_empty()
            }
        }
    };
}
