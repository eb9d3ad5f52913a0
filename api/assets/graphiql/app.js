// Starts GraphiQL against this server. Everything is served by the server
// itself (no CDN), so the page works offline and under a strict CSP.
// Put a member's token in the Headers tab: {"Authorization": "Bearer …"}.
(function () {
  'use strict';
  var fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultQuery: '# Sign in or register, then put the token in\n' +
        '# Headers: {"Authorization": "Bearer <token>"}\n\n' +
        'query Me {\n  me { id name email }\n}\n',
      shouldPersistHeaders: false,
    })
  );
})();
