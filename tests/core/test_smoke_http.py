from aiokoa import Koa


def test_hello_over_real_http(serve):
    app = Koa()

    @app.use
    async def hello(ctx, next):
        ctx.body = "Hello World"

    client = serve(app)
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "Hello World"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "11"
