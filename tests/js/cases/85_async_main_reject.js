// expect: sip
// async main: awaited helper rejects with an Error carrying a SIP status → that status.
async function checkCredit(account) {
  await Promise.resolve();
  if (account === 'acme') throw new Error('402 Payment Required');
  return true;
}
async function main(data) {
  data.headers.push({ key: 'X-Stage', value: 'credit' });
  await checkCredit(data.routing.account_id);
  return data;
}
