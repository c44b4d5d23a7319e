//! Keyset pagination at the HTTP edge: the `?limit=&cursor=` every listing accepts.
//! The page model ([`Page`], [`PageRequest`], the cursor) is `platform::pagination`'s.

use serde::Deserialize;

pub use crate::platform::pagination::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest};

/// Query parameters every listing accepts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A filter parameter that takes one value or several separated by commas
/// (`?status=sent,changes_requested`): a row matches any of them. Empty (`?status=`)
/// filters nothing. Each value is checked like a single one (an unknown status is a
/// 400 `invalid_parameter` naming it). In OpenAPI it is a string: annotate the field
/// with `#[param(value_type = Option<String>)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnyOf<T>(pub Vec<T>);

impl<T> Default for AnyOf<T> {
    fn default() -> Self {
        AnyOf(Vec::new())
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for AnyOf<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::IntoDeserializer;
        let text = String::deserialize(deserializer)?;
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| T::deserialize(IntoDeserializer::<D::Error>::into_deserializer(part)))
            .collect::<Result<Vec<T>, D::Error>>()
            .map(AnyOf)
    }
}

#[cfg(test)]
mod tests {
    use super::AnyOf;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Colour {
        Red,
        DarkBlue,
    }

    #[derive(Debug, Deserialize)]
    struct Params {
        #[serde(default)]
        colour: AnyOf<Colour>,
    }

    fn parse(query: serde_json::Value) -> Result<Vec<Colour>, String> {
        serde_json::from_value::<Params>(query)
            .map(|p| p.colour.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn one_value_several_or_none() {
        use serde_json::json;
        assert_eq!(parse(json!({"colour": "red"})), Ok(vec![Colour::Red]));
        assert_eq!(
            parse(json!({"colour": "red, dark_blue"})),
            Ok(vec![Colour::Red, Colour::DarkBlue])
        );
        assert_eq!(parse(json!({"colour": ""})), Ok(vec![]));
        assert_eq!(parse(json!({})), Ok(vec![]));
        let error = parse(json!({"colour": "red,green"})).unwrap_err();
        assert!(error.contains("green"), "{error}");
    }
}
