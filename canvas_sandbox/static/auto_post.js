// form_post response mode: hand the fields to the tool's redirect_uri at once.
document.getElementById("auto-post").submit();
