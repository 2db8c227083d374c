//! What of an item the text model reads: its title, description, genres and tags, in
//! one text (the model truncates long ones; the title and genres come first so they
//! survive truncation).

use crate::catalog::Content;

pub fn embedding_text(title: &str, description: Option<&str>, genres: &[String], tags: &[String]) -> String {
    let mut text = title.trim().to_owned();
    if !genres.is_empty() {
        text.push_str(". Genres: ");
        text.push_str(&genres.join(", "));
    }
    if !tags.is_empty() {
        text.push_str(". Tags: ");
        text.push_str(&tags.join(", "));
    }
    if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
        text.push_str(". ");
        text.push_str(d);
    }
    text
}

pub(crate) fn of_content(c: &Content) -> String {
    embedding_text(&c.title, c.description.as_deref(), &c.genres, &c.tags)
}
