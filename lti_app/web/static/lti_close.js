// Dynamic Registration is done: tell Canvas to close its registration dialog.
(window.opener || window.parent).postMessage({ subject: "org.imsglobal.lti.close" }, "*");
