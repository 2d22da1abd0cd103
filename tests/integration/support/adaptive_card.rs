//! A tiny renderer of the Adaptive Card subset orc sends to Teams (TextBlock, FactSet,
//! Action.OpenUrl) into plain HTML, so headless Chromium can show the card: the Adaptive Cards
//! JS renderer is not available offline. Each element gets an id (`block-N`, `facts`,
//! `action-N`) for the DOM assertions.

use serde_json::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The card (`attachments[0].content`) as an HTML page.
pub fn to_html(card: &Value) -> String {
    let mut body = String::new();
    for (i, el) in card["body"].as_array().expect("card body").iter().enumerate() {
        match el["type"].as_str() {
            Some("TextBlock") => {
                let text = esc(el["text"].as_str().unwrap_or_default());
                let mut style = String::new();
                if el["weight"] == "Bolder" {
                    style.push_str("font-weight:bold;");
                }
                match el["size"].as_str() {
                    Some("Large") => style.push_str("font-size:20px;"),
                    Some("Small") => style.push_str("font-size:12px;"),
                    _ => {}
                }
                match el["color"].as_str() {
                    Some("Attention") => style.push_str("color:#c4314b;"),
                    Some("Good") => style.push_str("color:#237b4b;"),
                    Some("Warning") => style.push_str("color:#c19c00;"),
                    _ => {}
                }
                if el["isSubtle"] == true {
                    style.push_str("color:#777;");
                }
                let tag = if el["fontType"] == "Monospace" { "pre" } else { "div" };
                body.push_str(&format!(
                    "<{tag} id=\"block-{i}\" style=\"{style}\">{text}</{tag}>\n"
                ));
            }
            Some("FactSet") => {
                body.push_str("<table id=\"facts\">\n");
                for f in el["facts"].as_array().expect("facts") {
                    body.push_str(&format!(
                        "<tr><th>{}</th><td>{}</td></tr>\n",
                        esc(f["title"].as_str().unwrap_or_default()),
                        esc(f["value"].as_str().unwrap_or_default())
                    ));
                }
                body.push_str("</table>\n");
            }
            other => panic!("the renderer does not know element {other:?}"),
        }
    }
    if let Some(actions) = card["actions"].as_array() {
        for (i, a) in actions.iter().enumerate() {
            assert_eq!(a["type"], "Action.OpenUrl");
            body.push_str(&format!(
                "<a id=\"action-{i}\" class=\"button\" href=\"{}\">{}</a>\n",
                esc(a["url"].as_str().unwrap_or_default()),
                esc(a["title"].as_str().unwrap_or_default())
            ));
        }
    }
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>\
         body{{font-family:sans-serif;background:#f5f5f5}}\
         .card{{background:#fff;border:1px solid #ddd;border-radius:6px;width:560px;margin:24px;padding:16px}}\
         th{{text-align:left;padding-right:16px;color:#555}} pre{{background:#f0f0f0;padding:8px;white-space:pre-wrap}}\
         .button{{display:inline-block;margin-top:12px;padding:6px 12px;border:1px solid #6264a7;color:#6264a7;text-decoration:none;border-radius:4px}}\
         </style></head><body><div class=\"card\">\n{body}</div></body></html>\n"
    )
}
