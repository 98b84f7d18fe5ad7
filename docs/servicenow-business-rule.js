/*
 * certfleet doorbell for ServiceNow (README: Help desks). ServiceNow signs no webhook of its
 * own, so this Business Rule signs the request the way certfleet checks it:
 *
 *   X-Certfleet-Signature: t=<unix seconds>,v1b64=<base64 HMAC-SHA256(secret, t + "." + body)>
 *   body: {"sys_id":"<32 hex>","password":"<the PFX password, when the item has one>"}
 *
 * Business Rule: table sc_req_item (the instance's `table`), Advanced, When: async, Insert and
 * Update, with a condition that says the certfleet variables are filled, for example
 *   current.cat_item.name == 'Client certificate' && !current.variables.certificate_name.nil()
 * System properties (restrict their Read roles to admin):
 *   x_certfleet.url             https://certfleet.example.com
 *   x_certfleet.instance        the instance's `name` in certfleet's adapters file, e.g. itsm
 *   x_certfleet.webhook_secret  the same secret as the instance's `webhookSecret`; ASCII, e.g.
 *                               `openssl rand -hex 32`, so that both sides hash the same bytes
 *
 * RESTMessageV2 does not retry by itself: a doorbell lost while certfleet is down is not sent
 * again. Configure `poll` for the instance (an encoded query of the items certfleet should take)
 * so certfleet reads them anyway; ringing twice, or polling an item already rung, does no harm.
 * ServiceNow runs this script on Rhino: ES5 only.
 */
(function executeRule(current, previous /* null: async rules have no previous */) {
  var url = gs.getProperty('x_certfleet.url');
  var instance = gs.getProperty('x_certfleet.instance');
  var secret = gs.getProperty('x_certfleet.webhook_secret');
  if (!url || !instance || !secret) {
    gs.error('certfleet: set x_certfleet.url, x_certfleet.instance and x_certfleet.webhook_secret');
    return;
  }

  var payload = { sys_id: current.getUniqueValue() };
  // A Masked variable: its clear value goes only into the signed body (certfleet seals it at once).
  var masked = current.variables.pfx_password;
  if (masked && typeof masked.getDecryptedValue === 'function') {
    var password = masked.getDecryptedValue();
    if (password) payload.password = String(password);
  }
  // \uXXXX for anything past ASCII: the bytes signed are then the bytes sent, whatever the charset.
  var body = JSON.stringify(payload).replace(/[\u007f-\uffff]/g, function (c) {
    return '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
  });

  var t = Math.floor(new GlideDateTime().getNumericValue() / 1000);
  // generateMac takes its key base64-encoded: certfleet's key is the secret's own bytes.
  var key = GlideStringUtil.base64Encode(secret);
  var mac = new CertificateEncryption().generateMac(key, 'HmacSHA256', t + '.' + body);

  var request = new sn_ws.RESTMessageV2();
  request.setEndpoint(url.replace(/\/+$/, '') + '/v1/adapters/servicenow/' + instance);
  request.setHttpMethod('post');
  request.setRequestHeader('Content-Type', 'application/json');
  request.setRequestHeader('X-Certfleet-Signature', 't=' + t + ',v1b64=' + mac);
  // One id per change of the record: the same change rung twice is one delivery in certfleet.
  var delivery = current.getUniqueValue() + '-' + current.getValue('sys_mod_count');
  request.setRequestHeader('X-Certfleet-Delivery', delivery);
  request.setRequestBody(body);
  // Never log the body or the request: the body holds the password.
  request.executeAsync();
})(current, previous);
